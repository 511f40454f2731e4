"""A service's CloudNativePG resources for `make manifests`: its `Cluster` (the PostgreSQL image pinned, base backups
and WAL archived to an object store) and the `ScheduledBackup` that takes a base backup every night.

The object store is a site value: the bucket in BACKUP_DESTINATION is not a valid bucket name (capitals and
underscores), so until an overlay replaces it every backup and WAL archive fails loudly instead of writing to
somebody else's bucket; the credentials come from the Secret BACKUP_CREDENTIALS, which the site creates.
"""

from __future__ import annotations

from typing import Any

# The major version and minor of compose's postgres:17.6 image; "system" images carry Barman Cloud, which the
# in-tree object store needs. Move it with compose's; a new major version needs a major upgrade, not a new tag.
POSTGRES_IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie"
PLACEHOLDER = "REPLACE_ME"
BACKUP_DESTINATION = f"s3://{PLACEHOLDER}_backup_bucket/verbinding"
BACKUP_CREDENTIALS = "verbinding-backup-s3"
BACKUP_RETENTION = "30d"
BACKUP_SCHEDULE = "0 0 2 * * *"  # seconds first (CloudNativePG's six fields): 02:00 every day


def cluster(name: str, database: str, metadata: dict[str, Any]) -> dict[str, Any]:
    store = {"destinationPath": f"{BACKUP_DESTINATION}/{name}",
             "s3Credentials": {"accessKeyId": {"name": BACKUP_CREDENTIALS, "key": "ACCESS_KEY_ID"},
                               "secretAccessKey": {"name": BACKUP_CREDENTIALS, "key": "ACCESS_SECRET_KEY"}},
             "wal": {"compression": "gzip"}, "data": {"compression": "gzip"}}
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": metadata,
            "spec": {"instances": 1, "imageName": POSTGRES_IMAGE, "enableSuperuserAccess": False,
                     "storage": {"size": "5Gi"},
                     "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
                     "bootstrap": {"initdb": {
                         "database": database, "owner": database,
                         "postInitApplicationSQL": [f"REVOKE CONNECT ON DATABASE {database} FROM PUBLIC"],
                     }},
                     "backup": {"retentionPolicy": BACKUP_RETENTION, "barmanObjectStore": store}}}


def scheduled_backup(name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "ScheduledBackup", "metadata": metadata,
            "spec": {"schedule": BACKUP_SCHEDULE, "cluster": {"name": name}, "method": "barmanObjectStore",
                     "backupOwnerReference": "self", "immediate": True}}
