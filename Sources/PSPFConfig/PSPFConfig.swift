// YAML configuration: model, validation with file:line:column errors, expressions, pipeline builder. See docs/configuration.md.
