"""Exception tree of the plant library: every failure a caller must handle is one of these."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .controller import ControlChange


class PlantError(Exception):
    """Base class of every error the library raises."""


class PlantConnectionError(PlantError):
    """The endpoint could not be reached or the connection broke."""


class PlantTimeoutError(PlantConnectionError):
    """The device did not answer within the timeout (after the transport's retries)."""


class ConnectionClosedError(PlantConnectionError):
    """The device or gateway closed the connection while a request was outstanding.

    The transport reconnects on the next request; some gateways close on purpose when asked for a unit id
    they do not have.
    """


class NoDeviceAtUnitError(PlantTimeoutError):
    """Nothing answers at these unit ids behind the endpoint, and something said so.

    A gateway answered Modbus exception 10 or 11 (no path to the unit, the unit did not respond), or closed
    the connection each time it was asked for the unit. A timeout at heart: the unit is silent.
    """

    def __init__(self, unit_ids: tuple[int, ...], reason: str, where: object = None) -> None:
        units = ", ".join(str(unit_id) for unit_id in unit_ids)
        place = "" if where is None else f" at {where}"
        super().__init__(f"no device at unit {units}{place}: {reason}")
        self.unit_ids = unit_ids
        self.reason = reason


class PlantProtocolError(PlantError):
    """The device answered with something unusable: a Modbus exception, or registers that do not decode.

    Frames that do not answer the request (garbage, truncated, bad CRC, someone else's reply) never get
    this far: the transports discard them and wait on, so they end in a ``PlantTimeoutError`` at worst.
    """


class ModbusExceptionError(PlantProtocolError):
    """The device answered with a Modbus exception code."""

    ILLEGAL_FUNCTION = 1
    ILLEGAL_DATA_ADDRESS = 2
    ILLEGAL_DATA_VALUE = 3
    DEVICE_FAILURE = 4
    ACKNOWLEDGE = 5
    DEVICE_BUSY = 6
    GATEWAY_PATH_UNAVAILABLE = 10
    GATEWAY_TARGET_NO_RESPONSE = 11

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or f"Modbus exception code {code}")
        self.code = code

    @property
    def refuses_registers(self) -> bool:
        """True when the device refuses this request shape: plan around it (read smaller pieces).

        Illegal data value counts too: some meters answer it for requests longer than they serve.
        """
        return self.code in (self.ILLEGAL_FUNCTION, self.ILLEGAL_DATA_ADDRESS, self.ILLEGAL_DATA_VALUE)

    @property
    def no_device(self) -> bool:
        """True when a gateway says no device answers at the unit id (exceptions 10 and 11)."""
        return self.code in (self.GATEWAY_PATH_UNAVAILABLE, self.GATEWAY_TARGET_NO_RESPONSE)

    @property
    def transient(self) -> bool:
        """True when the device is only busy for now (acknowledge, busy): asking again later may work."""
        return self.code in (self.ACKNOWLEDGE, self.DEVICE_BUSY)


class PlantUnavailableError(PlantError):
    """The endpoint failed too many polls in a row: its values are no longer shown (cause: last failure)."""


class UnsupportedDeviceError(PlantError):
    """Something answered, but it is no device any profile knows."""


# --- controls (plantkit.control, plantkit.controller) -----------------------------------------------


class ControlError(PlantError):
    """Base class of every refusal or failure of a control write (battery mode, export limit, ...)."""

    def __init__(self, message: str, control: str | None = None) -> None:
        super().__init__(message)
        self.control = control  # the canonical control name (``plantkit.control.Control``), if one


class ControlNotAllowedError(ControlError):
    """Writing is switched off for this plant (the default): nothing was sent."""


class ControlNotOfferedError(ControlError):
    """The device has no such control (or no device with that key is in the plant): nothing was sent."""


class ControlValueError(ControlError):
    """The value is outside what the device accepts (its own limits where it states them): nothing was
    sent. ``minimum``/``maximum`` bound numbers; ``options`` lists the choices of a choice control."""

    def __init__(
        self,
        message: str,
        control: str | None = None,
        *,
        value: object = None,
        minimum: float | None = None,
        maximum: float | None = None,
        options: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, control)
        self.value = value
        self.minimum = minimum
        self.maximum = maximum
        self.options = options


class ForcedModeRequiredError(ControlValueError):
    """A forced power that lives in the battery mode's own registers was set while no forced mode runs:
    there is nothing to write it to (choose a forced mode, or give the power with it). Nothing was sent."""


class ModeTakesNoPowerError(ControlValueError):
    """A power was given with a battery mode that uses none (only a forced charge or discharge does): the
    request is a mistake, for every brand alike. Nothing was sent. ``mode`` is the mode asked for (its
    name), ``value`` the power given."""

    def __init__(self, message: str, control: str | None = None, *, value: object, mode: str) -> None:
        super().__init__(message, control, value=value)
        self.mode = mode


class WriteBudgetExceededError(ControlError):
    """A register was written too often (its write budget protects registers kept in flash): nothing was
    sent. ``retry_after`` is the number of seconds until the budget allows the write again; ``interval``
    is the budget's least time between two writes (s) when that is the cause, None when the hour's
    ``limit`` of writes is."""

    def __init__(
        self,
        message: str,
        control: str | None = None,
        *,
        address: int,
        limit: int,
        retry_after: float,
        interval: float | None = None,
    ) -> None:
        super().__init__(message, control)
        self.address = address
        self.limit = limit
        self.retry_after = retry_after
        self.interval = interval


class WriteNotTakenError(ControlError):
    """The device acknowledged the write, but reading it back shows another value: it did not take it.

    ``requested`` is what was asked, ``actual`` what the device now reports (None: not readable).
    """

    def __init__(
        self, message: str, control: str | None = None, *, requested: object, actual: object
    ) -> None:
        super().__init__(message, control)
        self.requested = requested
        self.actual = actual


class PartlyWrittenError(ControlError):
    """A write of two controls (a value with its power) failed at the second after the first was written,
    and putting the first back failed too: ``change`` is the first control's change, which stays unless
    the put-back reached a device whose answer was lost; ``control`` names the control that failed, and
    ``__cause__`` is its failure."""

    def __init__(self, message: str, control: str | None = None, *, change: ControlChange) -> None:
        super().__init__(message, control)
        self.change = change


# --- cloud uplink (plantkit.uplink) --------------------------------------------------------------------


class UplinkError(PlantError):
    """Base class of every error of the cloud uplink (messages, outbox, MQTT destination)."""


class UplinkConfigError(UplinkError):
    """A setting is unusable: a broker URL that is not mqtts://host[:port], an unreadable certificate."""


class UplinkConnectionError(UplinkError):
    """The broker could not be reached (name not resolved, refused, timed out) or the connection broke."""


class UplinkTlsError(UplinkConnectionError):
    """The TLS handshake failed, e.g. the broker's certificate is not signed by the trusted CA."""


class UplinkAuthError(UplinkError):
    """The broker refused the credentials (bad user name or password, not authorised)."""


class UplinkStorageError(UplinkError):
    """The outbox on disk could not be opened, read or written."""
