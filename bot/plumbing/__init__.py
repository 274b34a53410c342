"""Small plumbing shared by the channels: logging, metrics, rate limits, conversations and where their state lives."""
