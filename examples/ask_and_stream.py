"""Ask PostHog AI a question, print the reply as it is written, then ask a follow-up.

Run against the emulator:  scripts/emulator --port 8010  (then export what it prints)
Or against PostHog: export POSTHOG_PERSONAL_API_KEY=phx_... POSTHOG_HOST=us
"""

import asyncio

from max_tools import AIMessage, AsyncMaxClient, MessageEvent, UpdateEvent


async def main() -> None:
    async with AsyncMaxClient.from_env() as max_ai:
        async with max_ai.stream("Show me a trend of weekly signups") as replies:
            shown = ""
            async for event in replies:
                if isinstance(event, MessageEvent) and isinstance(event.message, AIMessage):
                    text = event.message.content  # the whole text so far: print what is new
                    new = text[len(shown) :] if text.startswith(shown) else "\n" + text
                    print(new, end="", flush=True)
                    shown = "" if event.message.id else text
                    if event.message.id:
                        print()
                elif isinstance(event, UpdateEvent):
                    print(f"  [{event.content}]")
            reply = replies.reply()
        print(f"status: {reply.status}; visualizations: {len(reply.visualizations)}")

        follow_up = await max_ai.ask("Split that by country", conversation_id=reply.conversation_id)
        print(f"follow-up: {follow_up.text}")
        print(f"conversation: {reply.conversation_id}")


if __name__ == "__main__":
    asyncio.run(main())
