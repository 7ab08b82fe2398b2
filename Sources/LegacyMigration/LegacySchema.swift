/// The legacy iMi SQLite registry's schema, written once (in `migrations/legacy/`) for the
/// exporter, the tests' fixtures and `bench/migrate.sh`.
public enum LegacySchema {}
