"""The SIP dialer adapter: baresip as our call leg, driven over its ctrl_tcp module.

`SipDialer` (adapter.py) implements `campaigns.ports.Dialer`; `outcomes` holds the SIP
status -> disposition table; `process` manages a baresip child process; `control` speaks
ctrl_tcp's netstring JSON; `peers` runs SIPp called parties for tests and benchmarks.
"""

from dialer_adapters.sip.adapter import SipDialer

__all__ = ["SipDialer"]
