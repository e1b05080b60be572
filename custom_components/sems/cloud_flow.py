"""Forms and texts of the cloud sync steps (the steps themselves are in config_flow.py).

- ``CLOUD_SCHEMA``: the "Cloud sync" form: broker URL, plant id, credentials, CA, client certificate,
  categories (none preselected), resolution (5 minutes by default) and how devices are named.
- ``settings_from_input``: the form's values as ``CloudSettings`` (a stored password or key is kept
  when its field is left empty).
- ``confirm_placeholders``: what the consent step states: what leaves the LAN, to where, how often, and an
  example message built from the current reading.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import voluptuous as vol
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .cloud import (
    CONF_CA,
    CONF_CATEGORIES,
    CONF_CLIENT_CERT,
    CONF_CLIENT_KEY,
    CONF_DEVICE_REF,
    CONF_PLANT,
    CONF_RESOLUTION,
    CONF_URL,
    CloudSettings,
)
from .plantkit.uplink import CATEGORY_QUANTITIES, RESOLUTIONS, BrokerSettings, Category, DeviceRef, SyncTerms

CONF_AGREE: Final = "agree"
CONF_ERASE: Final = "erase"
_PEM = TextSelector(TextSelectorConfig(multiline=True))

CLOUD_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_URL): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
        vol.Required(CONF_PLANT): TextSelector(),
        vol.Optional(CONF_USERNAME): TextSelector(TextSelectorConfig(autocomplete="username")),
        vol.Optional(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
        ),
        vol.Optional(CONF_CA): _PEM,
        vol.Required(CONF_VERIFY_SSL, default=True): BooleanSelector(),
        vol.Optional(CONF_CLIENT_CERT): _PEM,
        vol.Optional(CONF_CLIENT_KEY): _PEM,
        # Consent is per category and none is chosen for the user.
        vol.Required(CONF_CATEGORIES, default=[]): SelectSelector(
            SelectSelectorConfig(
                options=[str(category) for category in Category],
                multiple=True,
                mode=SelectSelectorMode.LIST,
                translation_key="cloud_category",
            )
        ),
        vol.Required(CONF_RESOLUTION, default=str(300)): SelectSelector(
            SelectSelectorConfig(
                options=[str(seconds) for seconds in RESOLUTIONS],
                mode=SelectSelectorMode.LIST,
                translation_key="cloud_resolution",
            )
        ),
        vol.Required(CONF_DEVICE_REF, default=str(DeviceRef.PSEUDONYM)): SelectSelector(
            SelectSelectorConfig(
                options=[str(mode) for mode in DeviceRef],
                mode=SelectSelectorMode.LIST,
                translation_key="cloud_device_ref",
            )
        ),
    }
)
AGREE_SCHEMA: Final = vol.Schema({vol.Required(CONF_AGREE, default=False): BooleanSelector()})
STOP_SCHEMA: Final = vol.Schema({vol.Required(CONF_ERASE, default=True): BooleanSelector()})
REAUTH_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(CONF_USERNAME): TextSelector(TextSelectorConfig(autocomplete="username")),
        vol.Optional(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
        ),
    }
)


def suggested_values(settings: CloudSettings | None) -> dict[str, Any]:
    """Form values from stored settings; secrets (password, client key) are never sent back to the form."""
    if settings is None:
        return {}
    values = settings.to_options()
    values[CONF_RESOLUTION] = str(values[CONF_RESOLUTION])
    return {
        key: value
        for key, value in values.items()
        if key in CLOUD_SCHEMA.schema and key not in (CONF_PASSWORD, CONF_CLIENT_KEY) and value is not None
    }


def settings_from_input(user_input: Mapping[str, Any], previous: CloudSettings | None) -> CloudSettings:
    """The form as settings; raises ValueError (SyncTerms) for a bad plant id or choice. An empty password
    or client key keeps the stored one."""

    def text(key: str) -> str | None:
        value = str(user_input.get(key) or "").strip()
        return value or None

    kept = previous.broker if previous is not None else None
    broker = BrokerSettings(
        url=str(user_input[CONF_URL]).strip(),
        username=text(CONF_USERNAME),
        password=text(CONF_PASSWORD) or (kept.password if kept else None),
        ca_pem=text(CONF_CA),
        verify=bool(user_input.get(CONF_VERIFY_SSL, True)),
        client_cert_pem=text(CONF_CLIENT_CERT),
        client_key_pem=text(CONF_CLIENT_KEY) or (kept.client_key_pem if kept else None),
    )
    terms = SyncTerms.create(
        destination=broker.url,
        plant=str(user_input[CONF_PLANT]).strip(),
        categories=user_input.get(CONF_CATEGORIES) or (),
        resolution=int(user_input.get(CONF_RESOLUTION, 300)),
        device_ref=str(user_input.get(CONF_DEVICE_REF, DeviceRef.PSEUDONYM)),
    )
    return CloudSettings.create(broker, terms, previous)


def confirm_placeholders(settings: CloudSettings, examples: list[dict[str, Any]]) -> dict[str, str]:
    """The consent step's facts. ``examples``: the messages of the current reading (one period)."""
    terms = settings.terms
    host, port = settings.broker.address
    lines = []
    for category in terms.categories:
        fields = [str(q) for q in CATEGORY_QUANTITIES[category]]
        extra = {
            Category.STATUS: ["state"],
            Category.FAULTS: ["active", "seen"],
            Category.PLANT_PROFILE: ["role", "manufacturer", "model", "quantities"],
        }.get(category, [])
        lines.append(f"- `{category}`: {', '.join(fields + extra)}")
    periodic = [m for m in examples if m["category"] != str(Category.PLANT_PROFILE)]
    profiles = len(examples) - len(periodic)
    per_day = len(periodic) * (86400 // terms.resolution) + profiles
    example = next(
        (m for m in examples if m["category"] != str(Category.PLANT_PROFILE)),
        examples[0] if examples else None,
    )
    return {
        "destination": f"{host}:{port}",
        "plant": terms.plant,
        "topic": f"sems/v1/{terms.plant}/data/<category>",
        "categories": "\n".join(lines),
        "minutes": str(terms.resolution // 60),
        "per_day": str(per_day),
        "device_ref": str(terms.device_ref),
        "example": json.dumps(example, indent=1, ensure_ascii=False) if example else "-",
    }
