"""Exception tree of the plant library: every failure a caller must handle is one of these."""

from __future__ import annotations


class PlantError(Exception):
    """Base class of every error the library raises."""


class PlantConnectionError(PlantError):
    """The endpoint could not be reached or the connection broke."""


class PlantTimeoutError(PlantConnectionError):
    """The device did not answer within the timeout (after the transport's retries)."""


class PlantProtocolError(PlantError):
    """The device answered with something that is not a valid reply (garbage, truncated, bad CRC)."""


class ModbusExceptionError(PlantProtocolError):
    """The device answered with a Modbus exception code."""

    ILLEGAL_FUNCTION = 1
    ILLEGAL_DATA_ADDRESS = 2
    ILLEGAL_DATA_VALUE = 3
    DEVICE_FAILURE = 4
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


class UnsupportedDeviceError(PlantError):
    """Something answered, but it is no device any profile knows."""


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
