"""The capacity log: every shelter capacity change as the hub took it in, its in-process feed and the SSE stream."""
