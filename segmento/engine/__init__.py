"""Rule model, rule forms (JSON, DSL), validation, evaluation and the plugin interface."""
