"""Where things are: ward polygons and the authorities responsible for them."""
