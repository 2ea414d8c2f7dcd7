"""The indexes the sub-district's day counts on, declared beside the queries that need them.

Each figure of ``app.district.rollup`` is ``GROUP BY community_id`` under a condition; with
``community_id`` first and the condition's column second, PostgreSQL reads only the index
(``INCLUDE`` carries ``allowed`` for today's denials), never the table: for 200 communities
with 10 M scans of history, today's scans are a range of each community's index entries.
Created by migration ``d18000000d01``; declared here (not in the core models) because the
district page is what needs them, and ``flask db check`` compares both.
"""
from sqlalchemy import Index

from ..models import Pass, Person, Scan

SCANS_TODAY = Index("ix_scans_community_scanned_at", Scan.community_id, Scan.scanned_at,
                    postgresql_include=["allowed"])
RESIDENTS = Index("ix_people_community_category", Person.community_id, Person.category)
ACTIVE_PASSES = Index("ix_passes_community_status", Pass.community_id, Pass.status)
