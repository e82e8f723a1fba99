"""Registered models, versions and aliases over a Mainsail server's API."""

from __future__ import annotations

from typing import Any

from mainsail.core._registry_schemas import Alias, AliasChange, ModelVersion, RegisteredModel
from mainsail.store._rest_client import RestClient, seg


class RestRegistryMixin:
    """The registry protocol over HTTP; mixed into :class:`RestStore`."""

    client: RestClient

    # -- registry --------------------------------------------------------------------------
    def create_model_version(self, name: str, **fields: Any) -> ModelVersion:
        return ModelVersion(
            **self.client.json("POST", f"/models/{seg(name)}/versions", json=fields)
        )

    def get_model_version(
        self, name: str, version: int | None = None, alias: str | None = None
    ) -> ModelVersion:
        params: dict[str, Any] = {}
        if version is not None:
            params["version"] = int(version)
        if alias is not None:
            params["alias"] = alias
        return ModelVersion(
            **self.client.json("GET", f"/models/{seg(name)}/resolve", params=params)
        )

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        return [ModelVersion(**v) for v in self.client.json("GET", f"/models/{seg(name)}/versions")]

    def list_models(self) -> list[RegisteredModel]:
        return [RegisteredModel(**m) for m in self.client.json("GET", "/models")]

    def set_version_status(self, name: str, version: int, status: str) -> ModelVersion:
        return ModelVersion(
            **self.client.json(
                "POST",
                f"/models/{seg(name)}/versions/{int(version)}/status",
                json={"status": status},
            )
        )

    def update_model_version(self, name: str, version: int, **fields: Any) -> ModelVersion:
        return ModelVersion(
            **self.client.json("PATCH", f"/models/{seg(name)}/versions/{int(version)}", json=fields)
        )

    def delete_model_version(self, name: str, version: int) -> None:
        self.client.json("DELETE", f"/models/{seg(name)}/versions/{int(version)}")

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        actor: str | None,
        require_checks: bool | None = None,
    ) -> Alias:
        body = {"version": int(version), "require_checks": require_checks, "actor": actor}
        return Alias(
            **self.client.json("PUT", f"/models/{seg(name)}/aliases/{seg(alias)}", json=body)
        )

    def delete_alias(self, name: str, alias: str, actor: str | None) -> None:
        params = {"actor": actor} if actor else {}
        self.client.json("DELETE", f"/models/{seg(name)}/aliases/{seg(alias)}", params=params)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        params = {"alias": alias} if alias is not None else {}
        data = self.client.json("GET", f"/models/{seg(name)}/alias-history", params=params)
        return [AliasChange(**c) for c in data]

    def model_digests(self) -> set[str]:
        return set(self.client.json("GET", "/referenced-digests")["dirs"])
