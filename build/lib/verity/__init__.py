"""Verity: verified knowledge, enablement programs and impact analytics."""
