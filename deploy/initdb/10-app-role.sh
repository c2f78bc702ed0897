#!/bin/sh
# Run once by the postgres image when the database is first created: the login role the application
# uses. It owns nothing; `yumiao migrate` (as the owner, $POSTGRES_USER) grants it its rights.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v pw="$YUMIAO_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE yumiao_app LOGIN PASSWORD :'pw';
SQL
