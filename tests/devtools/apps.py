from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Benchmark and operations commands: bench, generate_synthetic, soak, fault_test."""

    name = "tests.devtools"
    label = "devtools"
    verbose_name = "Development tools"
