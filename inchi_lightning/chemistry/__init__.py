"""The molecule graph and its chemistry: a drawing's atoms and bonds (``molgraph``), RDKit both ways
(``molecule``), repairs of what a reading got wrong (``repair``), group labels written out
(``groups``), and InChI conversions and post-processing (``inchi``)."""
