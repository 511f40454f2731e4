"""The read audit: who read which person's record, where and when."""
