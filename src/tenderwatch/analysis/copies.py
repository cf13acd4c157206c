"""Processes that are copies of another: the table ``process_copies``, rebuilt by :func:`build_copies`.

Aggregators republish other publishers' notices under an ocid of their own: Open Opps gives each Contracts
Finder notice an ``ocds-0c46vo-…`` ocid, and a research copy may rewrite the ocids of the notices it matched.
Both keep the release id the original publisher gave the notice, and that id begins with the original process's
ocid (Contracts Finder's release ids are ``{ocid}-{notice}``). A store that holds both would count such a process
twice: in a buyer's and a supplier's totals, in the contracts ending soon and in search.

A process is recorded as a **copy** of another when one of its releases has the same release id as a release of
the other, and that id begins with the other's ocid. Only processes held in the store are compared; a release id
two processes share that begins with neither ocid (a publisher that numbers its releases 1, 2, 3…) makes no copy.
The copies keep their pages, which name the original; totals, lists and search count the original only.
"""

from __future__ import annotations

import duckdb


def build_copies(con: duckdb.DuckDBPyConnection) -> int:
    """Replace the rows of ``process_copies``; return how many processes are copies. Runs in the caller's
    transaction."""
    con.execute("DELETE FROM process_copies")
    con.execute(
        """
        INSERT INTO process_copies (ocid, original_ocid, release_id)
        WITH shared AS (  -- release ids held under more than one ocid
            SELECT release_id FROM raw_releases GROUP BY release_id HAVING count(DISTINCT ocid) > 1
        ),
        held AS (
            SELECT DISTINCT r.release_id, r.ocid FROM raw_releases AS r SEMI JOIN shared USING (release_id)
        ),
        originals AS (  -- the ocid each shared release id begins with (the longest, should two)
            SELECT release_id, arg_max(ocid, length(ocid)) AS original_ocid FROM held
            WHERE starts_with(release_id, ocid) GROUP BY release_id
        )
        SELECT h.ocid, o.original_ocid, min(h.release_id)
        FROM held AS h JOIN originals AS o USING (release_id)
        WHERE h.ocid <> o.original_ocid
        GROUP BY h.ocid, o.original_ocid
        """
    )
    # a process names one original (the first, should it share notices with two); a copy of a copy names the
    # copy's original; what would still name a copy (a loop) is left out
    con.execute(
        """
        DELETE FROM process_copies AS c
        WHERE EXISTS (SELECT 1 FROM process_copies AS d
                      WHERE d.ocid = c.ocid AND d.original_ocid < c.original_ocid)
        """
    )
    con.execute(
        """
        UPDATE process_copies AS c SET original_ocid = d.original_ocid
        FROM process_copies AS d WHERE d.ocid = c.original_ocid
        """
    )
    con.execute(
        "DELETE FROM process_copies WHERE ocid = original_ocid OR original_ocid IN (SELECT ocid FROM process_copies)"
    )
    return con.execute("SELECT count(*) FROM process_copies").fetchall()[0][0]
