"""The synchronous client, for scripts and notebooks (it runs its own event loop thread)."""

from max_tools import ConversationBusyError, MaxClient

with MaxClient.from_env() as max_ai:
    reply = max_ai.ask("How many users signed up last week?", wait_s=45)
    print(reply.status, reply.text)
    try:
        max_ai.ask("And the week before?", conversation_id=reply.conversation_id)
    except ConversationBusyError:  # only while a reply is still running
        max_ai.queue_message(reply.conversation_id, "And the week before?")
    for conversation in max_ai.iter_conversations():
        print(conversation.id, conversation.title)
