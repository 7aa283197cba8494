from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Benchmark and operations commands: bench, generate_synthetic, soak, fault_test, slow_clients."""

    name = "tests.devtools"
    label = "devtools"
    verbose_name = "Development tools"
