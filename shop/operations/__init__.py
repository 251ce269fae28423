"""Running the shop in production: logs, metrics, health, storage, backups and the configuration check."""
