#!/usr/bin/env python3
"""The seed's coordinator (shared/seeds/000), its monitoring loop as the seed gives it, for the
idle benchmark (bench/idle.ts): the gateway URL is the first argument, and a violation is
printed instead of being handed to audit_stub.py (an idle run has none)."""
import asyncio
import json
import sys

GATEWAY_WS = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:18789"
SEQUENCE = ["primary", "secondary", "observer"]


async def monitor():
    import websockets

    session_state = {}
    async with websockets.connect(GATEWAY_WS) as ws:
        await ws.send(json.dumps({"type": "subscribe", "events": ["session_update"]}))
        async for message in ws:
            event = json.loads(message)
            if event.get("type") != "session_update":
                continue
            session_id = event.get("session_id")
            agent = event.get("agent", "").lower()
            if agent not in SEQUENCE:
                continue
            current = SEQUENCE.index(agent)
            last = session_state.get(session_id, -1)
            if current != last + 1 and current != 0:
                expected = SEQUENCE[last + 1] if last + 1 < len(SEQUENCE) else "primary"
                print(f"[COORDINATOR] violation in {session_id}: {agent}, expected {expected}")
            else:
                session_state[session_id] = current
                if current == len(SEQUENCE) - 1:
                    session_state[session_id] = -1


if __name__ == "__main__":
    asyncio.run(monitor())
