"""The COA push: status recognitions in, produced to Kafka once the broker acknowledged them, receipts to look up."""
