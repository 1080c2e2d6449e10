//! Trusted place: is a fix on site, off site (by how far), or too inaccurate to tell?

use geo::{Contains, Distance, Haversine, HaversineClosestPoint, LineString, Point, Polygon};
use serde::{Deserialize, Serialize};

use crate::stamp::GpsFix;

/// A site's boundary: a polygon of (longitude, latitude) vertices, or a point and radius.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Geofence {
    Circle { lat: f64, lon: f64, radius_m: f64 },
    Polygon { lon_lat: Vec<[f64; 2]> },
}

impl Geofence {
    /// Checks the geometry is usable: coordinates in range, a positive radius, 3+ vertices.
    pub fn validate(&self) -> Result<(), String> {
        let in_range = |lat: f64, lon: f64| (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
        match self {
            Geofence::Circle { lat, lon, radius_m } => {
                if !in_range(*lat, *lon) {
                    return Err(format!("centre {lat}, {lon} is not a latitude and longitude"));
                }
                if !(radius_m.is_finite() && *radius_m > 0.0) {
                    return Err(format!("radius {radius_m} m must be a positive number of metres"));
                }
            }
            Geofence::Polygon { lon_lat } => {
                if lon_lat.len() < 3 {
                    return Err("a polygon needs at least 3 vertices".into());
                }
                if let Some([lon, lat]) = lon_lat.iter().find(|[lon, lat]| !in_range(*lat, *lon)) {
                    return Err(format!("vertex {lon}, {lat} is not a longitude and latitude"));
                }
            }
        }
        Ok(())
    }

    /// Metres from the point to the boundary when outside; 0 when inside.
    pub fn distance_outside_m(&self, lat: f64, lon: f64) -> f64 {
        let point = Point::new(lon, lat);
        match self {
            Geofence::Circle {
                lat: clat,
                lon: clon,
                radius_m,
            } => (Haversine.distance(Point::new(*clon, *clat), point) - radius_m).max(0.0),
            Geofence::Polygon { lon_lat } => {
                let polygon = Polygon::new(
                    LineString::from(lon_lat.iter().map(|[x, y]| (*x, *y)).collect::<Vec<_>>()),
                    vec![],
                );
                if polygon.contains(&point) {
                    return 0.0;
                }
                match polygon.haversine_closest_point(&point) {
                    geo::Closest::Intersection(_) => 0.0,
                    geo::Closest::SinglePoint(p) => Haversine.distance(p, point),
                    geo::Closest::Indeterminate => f64::INFINITY,
                }
            }
        }
    }
}

/// A site as the place checks need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteArea {
    pub geofence: Geofence,
    /// Fixes with a worse horizontal accuracy than this cannot tell on site from off site.
    pub max_accuracy_m: f64,
}

/// The default accuracy threshold when a site sets none.
pub const DEFAULT_MAX_ACCURACY_M: f64 = 50.0;

/// What a fix says about where an event happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Place {
    /// Inside the geofence, or outside by less than the fix's own accuracy.
    OnSite {
        distance_m: f64,
        accuracy_m: f64,
    },
    OffSite {
        distance_m: f64,
        accuracy_m: f64,
    },
    TooInaccurate {
        accuracy_m: f64,
        threshold_m: f64,
    },
    /// The OS flagged the fix as coming from a mock-location provider.
    Mock,
    /// No fix was taken; recorded, never a reason to block anyone.
    NoFix,
}

pub fn judge(fix: Option<&GpsFix>, site: &SiteArea) -> Place {
    let Some(fix) = fix else { return Place::NoFix };
    if fix.mock {
        return Place::Mock;
    }
    if !(fix.accuracy_m.is_finite() && fix.accuracy_m >= 0.0) || fix.accuracy_m > site.max_accuracy_m {
        return Place::TooInaccurate {
            accuracy_m: fix.accuracy_m,
            threshold_m: site.max_accuracy_m,
        };
    }
    let distance_m = site.geofence.distance_outside_m(fix.lat, fix.lon);
    if distance_m <= fix.accuracy_m {
        Place::OnSite {
            distance_m,
            accuracy_m: fix.accuracy_m,
        }
    } else {
        Place::OffSite {
            distance_m,
            accuracy_m: fix.accuracy_m,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(lat: f64, lon: f64, accuracy_m: f64) -> GpsFix {
        GpsFix {
            lat,
            lon,
            accuracy_m,
            fix_time_ms: 0,
            provider: "gps".into(),
            mock: false,
        }
    }

    fn pad() -> SiteArea {
        SiteArea {
            geofence: Geofence::Circle {
                lat: 53.45,
                lon: -115.0,
                radius_m: 200.0,
            },
            max_accuracy_m: 50.0,
        }
    }

    #[test]
    fn a_circle_site_tells_on_off_edge_and_inaccurate() {
        assert!(matches!(
            judge(Some(&fix(53.45, -115.0, 5.0)), &pad()),
            Place::OnSite { .. }
        ));
        // ~2 km north.
        match judge(Some(&fix(53.468, -115.0, 5.0)), &pad()) {
            Place::OffSite { distance_m, .. } => assert!((distance_m - 1801.0).abs() < 15.0, "{distance_m}"),
            other => panic!("expected off site, got {other:?}"),
        }
        // 210 m from the centre, 10 m outside, with 15 m accuracy: cannot say it was off site.
        let edge = 53.45 + 210.0 / 111_195.0;
        assert!(matches!(
            judge(Some(&fix(edge, -115.0, 15.0)), &pad()),
            Place::OnSite { .. }
        ));
        assert!(matches!(
            judge(Some(&fix(edge, -115.0, 4.0)), &pad()),
            Place::OffSite { .. }
        ));
        assert!(matches!(
            judge(Some(&fix(53.45, -115.0, 80.0)), &pad()),
            Place::TooInaccurate { .. }
        ));
        assert_eq!(judge(None, &pad()), Place::NoFix);
        let mut mock = fix(53.45, -115.0, 3.0);
        mock.mock = true;
        assert_eq!(judge(Some(&mock), &pad()), Place::Mock);
    }

    #[test]
    fn a_polygon_site_measures_to_its_edge() {
        let square = SiteArea {
            geofence: Geofence::Polygon {
                lon_lat: vec![
                    [-115.01, 53.44],
                    [-114.99, 53.44],
                    [-114.99, 53.46],
                    [-115.01, 53.46],
                    [-115.01, 53.44],
                ],
            },
            max_accuracy_m: 30.0,
        };
        assert!(
            matches!(judge(Some(&fix(53.45, -115.0, 5.0)), &square), Place::OnSite { distance_m, .. } if distance_m == 0.0)
        );
        match judge(Some(&fix(53.47, -115.0, 5.0)), &square) {
            Place::OffSite { distance_m, .. } => assert!((distance_m - 1112.0).abs() < 15.0, "{distance_m}"),
            other => panic!("expected off site, got {other:?}"),
        }
        assert!(
            Geofence::Polygon {
                lon_lat: vec![[0.0, 0.0]]
            }
            .validate()
            .is_err()
        );
        assert!(
            Geofence::Circle {
                lat: 95.0,
                lon: 0.0,
                radius_m: 5.0
            }
            .validate()
            .is_err()
        );
    }
}
