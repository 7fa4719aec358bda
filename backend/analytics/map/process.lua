-- tilemaker 2.2 tag processing for the dashboard's base map: roads, water and land use only (no
-- names, no points of interest). Layer names and classes are a subset of the OpenMapTiles schema,
-- so that the same style (static/analytics/map/style.json) also draws tiles from a production
-- OpenMapTiles server. The sea is not in OSM as areas: it comes from the "ocean" shapefile that
-- backend/analytics/basemap.py makes from the extract's coastline.

node_keys = {}

function init_function()
end

function exit_function()
end

function node_function(node)
end

-- highway=* -> transportation class, and the zoom from which it is drawn.
local road_class = {
  motorway = "motorway", motorway_link = "motorway",
  trunk = "trunk", trunk_link = "trunk",
  primary = "primary", primary_link = "primary",
  secondary = "secondary", secondary_link = "secondary",
  tertiary = "tertiary", tertiary_link = "tertiary",
  unclassified = "minor", residential = "minor", living_street = "minor", road = "minor",
  service = "service",
  track = "track",
  pedestrian = "path", footway = "path", path = "path", cycleway = "path", steps = "path",
  bridleway = "path",
}
local road_minzoom = {
  motorway = 10, trunk = 10, primary = 10, secondary = 11, tertiary = 12,
  minor = 12, service = 13, track = 13, path = 14,
}

local landcover_class = {
  forest = "wood", wood = "wood", scrub = "wood",
  grass = "grass", meadow = "grass", grassland = "grass", heath = "grass",
  village_green = "grass", recreation_ground = "grass", greenfield = "grass",
  farm = "farmland", farmland = "farmland", farmyard = "farmland", orchard = "farmland",
  vineyard = "farmland", allotments = "farmland", plant_nursery = "farmland",
}
local landuse_class = {
  residential = "residential", commercial = "commercial", retail = "retail",
  industrial = "industrial", railway = "railway", cemetery = "cemetery",
  construction = "construction", quarry = "quarry", military = "military",
  brownfield = "construction", garages = "commercial",
}
local waterway_line = { river = "river", stream = "stream", canal = "canal", drain = "drain", ditch = "drain" }

function way_function(way)
  local highway = way:Find("highway")
  local waterway = way:Find("waterway")
  local natural = way:Find("natural")
  local landuse = way:Find("landuse")
  local closed = way:IsClosed()

  local class = road_class[highway]
  if class then
    way:Layer("transportation", false)
    way:Attribute("class", class)
    way:MinZoom(road_minzoom[class])
    if string.find(highway, "_link") then way:AttributeNumeric("ramp", 1) end
    if way:Find("tunnel") ~= "" and way:Find("tunnel") ~= "no" then
      way:Attribute("brunnel", "tunnel")
    elseif way:Find("bridge") ~= "" and way:Find("bridge") ~= "no" then
      way:Attribute("brunnel", "bridge")
    end
    return
  end

  if (natural == "water" or waterway == "riverbank" or landuse == "reservoir" or landuse == "basin") and closed then
    way:Layer("water", true)
    if waterway == "riverbank" or way:Find("water") == "river" then
      way:Attribute("class", "river")
    else
      way:Attribute("class", "lake")
    end
    return
  end

  if waterway_line[waterway] and way:Find("tunnel") == "" then
    way:Layer("waterway", false)
    way:Attribute("class", waterway_line[waterway])
    return
  end

  if closed and landcover_class[landuse] then
    way:Layer("landcover", true)
    way:Attribute("class", landcover_class[landuse])
  elseif closed and landuse_class[landuse] then
    way:Layer("landuse", true)
    way:Attribute("class", landuse_class[landuse])
  end
end

-- The sea polygons from the shapefile.
function attribute_function(attr, layer)
  return { class = "ocean" }
end
