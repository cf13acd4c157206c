-- A publisher's compiled release is already in raw_releases, verbatim: its compiled row names that release by its
-- hash instead of holding a second copy of the text (data is then NULL).
ALTER TABLE compiled_releases ADD COLUMN data_hash VARCHAR;
