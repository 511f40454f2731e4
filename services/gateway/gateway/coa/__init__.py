"""The COA push: status recognitions in, kept with their events in the gateway's outbox, receipts to look up."""
