"""Channels: how people reach Kolekt from a phone, and how they are answered.

- ``webhooks``: the SMS gateways' webhooks (Twilio, Africa's Talking), inbound texts and delivery
  reports, each proving where it comes from before anything is read;
- ``inbox``: the path of every inbound text: stored once, read, handled, answered, in one unit of
  work;
- ``conversation`` and ``handlers``: one handler per command of the SMS protocol, each calling
  one use case and saying what came of it;
- ``simulator``: a phone in the browser, for the embedded run (console gateway only).

USSD will join them.
"""
