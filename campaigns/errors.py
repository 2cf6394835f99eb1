"""The one exception tree of the engine.

Expected outcomes (a contact excluded for do-not-call, a busy line) are values,
not exceptions. Exceptions are for requests that cannot be carried out.

    OutboundError
    ├── UserError                      a person asked for something wrong; shown without a traceback
    │   ├── ValidationError            input is malformed (a request, a list file, a flag)
    │   │   └── ListFileError          a list file that cannot be read as a table
    │   ├── NotFoundError              an id or code that does not exist
    │   └── IllegalTransition          a campaign cannot move from its state to the one asked for
    ├── ConfigurationError             settings or installation are wrong (unknown dialer adapter)
    ├── SourceUnavailable              retryable: a subscriber source (CRM) could not be reached
    └── DialerError                    raised by dialer adapters, translated from vendor errors
        ├── DialerUnavailable          retryable: the dialer could not be reached or timed out
        └── DialerRejected             permanent: the dialer refused the request
"""

from __future__ import annotations


class OutboundError(Exception):
    """Base of every error the engine raises on purpose."""


class UserError(OutboundError):
    """A mistake by the person using the engine; the message says what to fix."""


class ValidationError(UserError):
    """Input that does not meet the rules."""


class ListFileError(ValidationError):
    """A contact list file that is rejected whole."""


class NotFoundError(UserError):
    """A referenced entity does not exist."""


class IllegalTransition(UserError):
    """A campaign state change that the lifecycle does not allow."""

    def __init__(self, campaign_id: int | None, current: str, requested: str) -> None:
        self.campaign_id = campaign_id
        self.current = current
        self.requested = requested
        who = f"campaign {campaign_id}" if campaign_id is not None else "campaign"
        super().__init__(f"{who} is {current}; it cannot move to {requested}")


class ConfigurationError(OutboundError):
    """Settings or installation problems."""


class SourceUnavailable(OutboundError):
    """A subscriber source (the operator's CRM) did not answer in time; retry later."""

    retryable = True


class DialerError(OutboundError):
    """An error reported by a dialer adapter."""

    retryable: bool = False


class DialerUnavailable(DialerError):
    """The dialer could not be reached; the same call may succeed later."""

    retryable = True


class DialerRejected(DialerError):
    """The dialer refused the request; repeating it will not help."""
