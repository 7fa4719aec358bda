-- OSRM's own car profile, with two additions the product relies on:
--   * no speed above 130 km/h (the French motorway limit), whatever a way's tags say, so that
--     "straight-line distance / 130 km/h" is a lower bound of every road time;
--   * the fastest speed actually used is written to $OSRM_TOP_SPEED_FILE (one line per new
--     maximum, per extraction thread), so the candidate prefilter can use the network's own
--     top speed, a much tighter bound than the cap.
-- Ways with a `duration` tag (ferries, car trains) get the profile's speed for their kind
-- instead: their time would not follow from their length.
-- OSRM_PROFILES is the folder of the profiles shipped with OSRM (car.lua and lib/).
package.path = os.getenv('OSRM_PROFILES') .. '/?.lua;' .. package.path

local car = require('car')
local setup = car.setup
local process_way = car.process_way
local top_speed_file = os.getenv('OSRM_TOP_SPEED_FILE')
local top = 0

car.setup = function()
  local profile = setup()
  profile.vehicle_max_speed = 130
  return profile
end

car.process_way = function(profile, way, result, relations)
  process_way(profile, way, result, relations)
  if result.duration and result.duration > 0 then
    result.duration = 0
  end
  local speed = math.max(result.forward_speed or 0, result.backward_speed or 0)
  if speed > top then
    top = speed
    if top_speed_file then
      local out = io.open(top_speed_file, 'a')
      out:write(string.format('%.3f\n', speed))
      out:close()
    end
  end
end

return car
