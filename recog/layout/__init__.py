"""Page layouts: PAGE XML and ALTO files in, line regions cut from polygons or baselines, and
transcriptions written back.

``files``: reading and writing PAGE XML (2013/2019 schemas) and ALTO (v2–v4);
``geometry``: a line's region on the page from its polygon, or from its baseline where the
polygon is missing or too thin, and the crop of that region.
"""
