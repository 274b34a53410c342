"""Whom a message is for, and whose conversation it continues.

Private chats are always for the bot. In a group a message is for it only when it mentions the bot's exact
username (a `mention` entity, so "@khabar_bot_fan" is not "@khabar_bot") or replies to one of its messages.
A group's members each keep their own conversation, so one member's question is never another's context."""
from __future__ import annotations

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType


def in_group(update: Update) -> bool:
    """Whether the update comes from a group or supergroup."""
    return update.effective_chat is not None and update.effective_chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def bot_mentions(msg: Message, username: str) -> list[MessageEntity]:
    """The message's (or caption's) mention entities that name the bot, case-insensitively."""
    parsed = msg.parse_entities([MessageEntity.MENTION]) if msg.text else \
        msg.parse_caption_entities([MessageEntity.MENTION])
    return [e for e, text in parsed.items() if text[1:].lower() == username.lower()]


def without_entities(text: str, entities: list[MessageEntity]) -> str:
    """`text` with each entity replaced by a space."""
    # entity offsets count UTF-16 code units (an emoji before the mention is two), so cut in that encoding
    raw = text.encode("utf-16-le")
    for e in sorted(entities, key=lambda e: e.offset, reverse=True):
        raw = raw[:e.offset * 2] + " ".encode("utf-16-le") + raw[(e.offset + e.length) * 2:]
    return raw.decode("utf-16-le")


def replies_to_bot(msg: Message, bot_id: int) -> bool:
    """Whether the message replies to one of the bot's own messages."""
    reply = msg.reply_to_message
    return reply is not None and reply.from_user is not None and reply.from_user.id == bot_id


def addressed(update: Update, username: str, bot_id: int) -> bool:
    """Whether the bot should answer this message: always in private, when mentioned or replied to in groups."""
    msg = update.effective_message
    if msg is None:
        return False
    if not in_group(update):
        return True
    return bool(bot_mentions(msg, username)) or replies_to_bot(msg, bot_id)


def command_for_bot(update: Update, username: str, bot_id: int) -> bool:
    """Whether a /command is meant for this bot: any in private; in groups /cmd@<bot> or a reply to the bot."""
    msg = update.effective_message
    if msg is None or not msg.text or not msg.entities:
        return False
    if not in_group(update):
        return True
    first = msg.entities[0]
    named = msg.text[:first.length].partition("@")[2]  # commands are ASCII: no UTF-16 offset shift before
    return named.lower() == username.lower() or replies_to_bot(msg, bot_id)


def conversation_key(update: Update) -> str:
    """The conversation a message belongs to: the chat in private, the chat and its sender in groups."""
    chat = update.effective_chat
    user = update.effective_user
    chat_id = str(chat.id) if chat else ""
    if in_group(update) and user is not None:
        return f"{chat_id}:{user.id}"
    return chat_id
