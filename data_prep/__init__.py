"""Corpus preparation: turn a corpus on disk into ``recog`` manifests.

Each preparer writes, under an output directory::

    <out>/<split>/manifest.jsonl   one JSON object per utterance (absolute paths)
    <out>/<split>/text             Kaldi-style ``<id> <transcript>``, sorted by id
    <out>/tokens.txt               the symbol table built from the training texts

Preparers:

* :mod:`data_prep.lines` - a folder of line images with ``<stem>.gt.txt`` sidecars
  (kraken / Calamari / ocropus convention) and ``*.lst`` split lists.
* :mod:`data_prep.iam` - the IAM Handwriting Database (``ascii/lines.txt`` + ``lines/``).

Bad data (missing images, empty transcriptions, ...) is reported on stderr and skipped; it never
stops the preparation.
"""
