"""The policy gate's own pieces: custom checks over a plan's JSON, checkov's results and the
reviewed baseline of exceptions. ``python -m scripts.policy_gate`` puts them together."""
