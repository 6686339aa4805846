"""What runs the system outside AWS: the local runtime built from template.yaml.

The entry point is `izin_local.runtime.LocalRuntime` (tests) and `izin_local.serve.serve`
(`izin local serve`). Nothing is imported here so that `import izin_local.cli` stays cheap.
"""
