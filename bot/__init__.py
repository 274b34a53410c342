"""Khabar's answering side, in three layers.

core: retrieval, answers, citations; channels: CLI, web, Telegram; plumbing: logs, metrics, shared state."""
