"""Provider adapters, one per protocol, behind one interface (base.py)."""

from __future__ import annotations

from services.inference.providers.anthropic import AnthropicAdapter
from services.inference.providers.base import ProviderAdapter
from services.inference.providers.openai_compatible import OpenAICompatibleAdapter
from services.inference.settings import ProviderSettings


def adapter_for(settings: ProviderSettings) -> ProviderAdapter:
    if settings.kind == "anthropic":
        return AnthropicAdapter(settings)
    return OpenAICompatibleAdapter(settings)
