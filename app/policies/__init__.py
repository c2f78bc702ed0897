"""Policy documents as data: one YAML file per 文件, validated by schema.py, read by loader.py."""
