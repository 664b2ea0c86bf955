"""Providers: the outside services Kolekt hands work to, each chosen by a setting and behind one
small interface: the SMS gateway (``sms``: Twilio, Africa's Talking or the console, from
``sms.gateways``), the shared send limit (``send_limit``), and the fulfillers of rewards
(``fulfilment``: vouchers, goods, airtime by console or Africa's Talking). Cash payouts join them.

They stand beside the base: the runtime builds them, and the jobs that use them sit above it.
"""
