"""ProviderRegistry: one provider object per entry in `AgentsConfig.llm_providers`."""

from __future__ import annotations

from agents.llm.base import LlmProvider
from config.models import AgentsConfig, LlmProviderConfig


def make_provider(
    name: str, cfg: LlmProviderConfig, *, call_timeout_s: float | None = None
) -> LlmProvider:
    if cfg.type == "gemini":
        from agents.llm.gemini import GeminiProvider

        return GeminiProvider(name, cfg, call_timeout_s=call_timeout_s)
    from agents.llm.openai_compat import OpenAICompatProvider

    return OpenAICompatProvider(name, cfg, call_timeout_s=call_timeout_s)


class ProviderRegistry:
    def __init__(self, providers: dict[str, LlmProvider], default: str) -> None:
        if default not in providers:
            raise ValueError(f"default provider '{default}' is not configured")
        self._providers = providers
        self.default = default

    @classmethod
    def from_config(
        cls, config: AgentsConfig, *, call_timeout_s: float | None = None
    ) -> ProviderRegistry:
        return cls(
            {
                name: make_provider(name, cfg, call_timeout_s=call_timeout_s)
                for name, cfg in config.llm_providers.items()
            },
            config.default_llm_provider,
        )

    def get(self, name: str | None = None) -> LlmProvider:
        key = name or self.default
        try:
            return self._providers[key]
        except KeyError:
            known = ", ".join(sorted(self._providers))
            raise KeyError(f"unknown llm provider '{key}' (known: {known})") from None

    def names(self) -> list[str]:
        return list(self._providers)

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
