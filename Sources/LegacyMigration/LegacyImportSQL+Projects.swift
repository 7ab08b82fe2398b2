/// Legacy `repositories` → `projects`: the plan (an alias where the project is registered
/// already under another id, duplicates of an active name or remote refused) and the insert.
extension LegacyImportSQL {
    static let planProjects: [String] = [
        """
        CREATE TEMP TABLE legacy_plan_repositories ON COMMIT DROP AS
        SELECT s.ord, \(sourceID()) AS source_id, k.id, s.name,
            coalesce(s.remote_url, '') AS remote_origin,
            b.default_branch,
            CASE WHEN p.last_part LIKE 'trunk-_%' THEN p.clean
                 ELSE rtrim(p.clean, '/') || '/trunk-' || b.default_branch END AS trunk_path,
            \(timestampsActiveAndMetadata()),
            \(repairs([
                "CASE WHEN s.remote_url IS NULL THEN 'remote_url missing; stored as empty' END",
                """
                CASE WHEN coalesce(s.default_branch, '') = '' THEN CASE WHEN p.last_part LIKE 'trunk-_%' \
                THEN 'default_branch missing; taken from the trunk directory name' \
                ELSE 'default_branch missing; set to main' END END
                """,
            ] + timestampRepairs() + [activeRepair("active"), badTextRepair])) AS repairs,
            CASE WHEN k.id IS NULL THEN 'missing id'
                 WHEN coalesce(s.name, '') = '' THEN 'empty name'
                 WHEN p.clean = '' THEN 'missing path'
                 WHEN octet_length(s.name) > 2000 OR octet_length(s.remote_url) > 2000
                     THEN 'name or remote_url too long to index (over 2000 bytes)'
                 WHEN s.created_at IS NULL AND s.updated_at IS NULL
                     THEN 'no usable timestamp (created_at and updated_at missing or unparseable)'
            END AS problem,
            false AS present,
            NULL::uuid AS alias_of
        FROM legacy_stage_repositories s
        CROSS JOIN LATERAL (SELECT \(key("id", namespace: "repositories")) AS id) k
        CROSS JOIN LATERAL (SELECT CASE WHEN s.path ~ '^/+$' THEN '/' ELSE rtrim(coalesce(s.path, ''), '/') END AS clean) p0
        CROSS JOIN LATERAL (SELECT p0.clean, regexp_replace(p0.clean, '^.*/', '') AS last_part) p
        CROSS JOIN LATERAL (SELECT coalesce(nullif(s.default_branch, ''),
            CASE WHEN p.last_part LIKE 'trunk-_%' THEN substr(p.last_part, 7) END, 'main') AS default_branch) b
        """,
        duplicateID("legacy_plan_repositories"),
        "UPDATE legacy_plan_repositories p SET present = true WHERE problem IS NULL AND EXISTS (SELECT 1 FROM projects x WHERE x.id = p.id)",
        // The same project registered already under another id (by `scan` or the agent, during
        // the dual-run period; not a row of this legacy file): the legacy row is that project.
        """
        UPDATE legacy_plan_repositories p SET present = true, alias_of = x.id
        FROM projects x
        WHERE p.problem IS NULL AND NOT p.present AND p.active AND x.active
          AND ((p.remote_origin <> '' AND x.remote_origin = p.remote_origin) OR x.trunk_path = p.trunk_path)
          AND NOT EXISTS (SELECT 1 FROM legacy_plan_repositories o WHERE o.id = x.id)
        """,
        """
        UPDATE legacy_plan_repositories p SET problem = 'duplicate name (another active project has it)'
        FROM (SELECT ord, row_number() OVER (PARTITION BY name ORDER BY ord) AS n
              FROM legacy_plan_repositories WHERE problem IS NULL AND NOT present AND active) d
        WHERE d.ord = p.ord AND (d.n > 1 OR EXISTS (SELECT 1 FROM projects x WHERE x.active AND x.name = p.name))
        """,
        """
        UPDATE legacy_plan_repositories p SET problem = 'duplicate remote (another active project has it)'
        FROM (SELECT ord, row_number() OVER (PARTITION BY remote_origin ORDER BY ord) AS n
              FROM legacy_plan_repositories WHERE problem IS NULL AND NOT present AND active AND remote_origin <> '') d
        WHERE d.ord = p.ord AND (d.n > 1 OR EXISTS (SELECT 1 FROM projects x WHERE x.active AND x.remote_origin = p.remote_origin))
        """,
    ]

    static let insertProjects = """
        INSERT INTO projects (id, name, remote_origin, default_branch, trunk_path, metadata,
                              created_at, updated_at, active)
        SELECT id, name, remote_origin, default_branch, trunk_path, metadata, created_at, updated_at, active
        FROM legacy_plan_repositories WHERE problem IS NULL AND NOT present ORDER BY ord
        ON CONFLICT (id) DO NOTHING
        """
}
