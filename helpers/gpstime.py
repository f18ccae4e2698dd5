"""GPS time, UTC and decimal years, with leap seconds, in vectorised numpy.

ICESat-2 stores time as ``delta_time``: GPS seconds since the ATLAS Standard Data
Product epoch, 2018-01-01T00:00:00Z. Adding ``ancillary_data/atlas_sdp_gps_epoch``
(1198800018 s) gives GPS seconds since 1980-01-06T00:00:00Z (``t_gps``).

GPS time runs continuously; UTC stops for a leap second now and then. This module
converts between the two with a built-in leap-second table, so that it never needs
the network (astropy may try to download a fresh table; a hub offline would hang).

Decimal years follow astropy's definition on the UTC scale, i.e.
``Time(t_gps, format="gps").utc.decimalyear``: the fraction of the UTC calendar year
elapsed, where a day holding a leap second lasts 86401 s.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: GPS seconds of 2018-01-01T00:00:00Z, as stored in ``ancillary_data/atlas_sdp_gps_epoch``.
ATLAS_SDP_GPS_EPOCH = 1198800018.0

#: Unix (POSIX) seconds of the GPS epoch, 1980-01-06T00:00:00Z.
GPS_EPOCH_POSIX = 315964800

#: UTC days (ISO dates) that began right after a leap second since the GPS epoch. After the
#: k-th of them, GPS - UTC = k seconds. No leap second has been announced after 2017-01-01
#: (IERS Bulletin C); extend this tuple if one ever is.
LEAP_SECOND_DAYS: tuple[str, ...] = (
    "1981-07-01", "1982-07-01", "1983-07-01", "1985-07-01", "1988-01-01", "1990-01-01",
    "1991-01-01", "1992-07-01", "1993-07-01", "1994-07-01", "1996-01-01", "1997-07-01",
    "1999-01-01", "2006-01-01", "2009-01-01", "2012-07-01", "2015-07-01", "2017-01-01",
)  # fmt: skip

_SECONDS_PER_DAY = 86400
# POSIX second at which each leap second ends (midnight starting the new UTC day).
_LEAP_POSIX = np.array(
    [np.datetime64(d, "s").astype(np.int64) for d in LEAP_SECOND_DAYS], dtype=np.int64
)
# On the continuous GPS-since-1970 scale, the k-th inserted second (k = 1..K) occupies
# [_LEAP_POSIX[k-1] + k - 1, _LEAP_POSIX[k-1] + k).
_LEAP_END_CONTINUOUS = _LEAP_POSIX + np.arange(1, len(_LEAP_POSIX) + 1)


def gps_minus_utc(t_gps: npt.ArrayLike) -> np.ndarray:
    """Leap seconds accumulated since 1980 at GPS time ``t_gps``.

    Parameters
    ----------
    t_gps : array_like
        GPS seconds since 1980-01-06T00:00:00Z.

    Returns
    -------
    numpy.ndarray of int64
        GPS - UTC in seconds (18 from 2017-01-01 on).

    Examples
    --------
    At the GPS epoch and at the ATLAS epoch (2018-01-01):

    >>> gps_minus_utc([0.0, ATLAS_SDP_GPS_EPOCH]).tolist()
    [0, 18]
    """
    return _leaps_so_far(t_gps)[1].astype(np.int64)


def _leaps_so_far(t_gps: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GPS time on a continuous since-1970 scale (s), and the leap seconds inserted before it."""
    continuous = np.asarray(t_gps, dtype=np.float64) + GPS_EPOCH_POSIX
    return continuous, np.searchsorted(_LEAP_END_CONTINUOUS, continuous, side="right")


def _utc_day_and_second(t_gps: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split GPS time into UTC day start (POSIX s), second of day and day length (s)."""
    continuous, n_done = _leaps_so_far(t_gps)
    posix = continuous - n_done
    day_start = np.floor(posix / _SECONDS_PER_DAY) * _SECONDS_PER_DAY
    second = posix - day_start
    # Inside an inserted second (23:59:60.x) the naive POSIX value has already rolled
    # over into the next day: put it back at the end of the day it belongs to.
    nxt = np.minimum(n_done, len(_LEAP_POSIX) - 1)
    in_leap = (n_done < len(_LEAP_POSIX)) & (continuous >= _LEAP_END_CONTINUOUS[nxt] - 1)
    day_start = np.where(in_leap, _LEAP_POSIX[nxt] - _SECONDS_PER_DAY, day_start)
    second = np.where(
        in_leap, _SECONDS_PER_DAY + continuous - (_LEAP_END_CONTINUOUS[nxt] - 1), second
    )
    day_length = np.where(np.isin(day_start + _SECONDS_PER_DAY, _LEAP_POSIX), 86401, 86400)
    return day_start, second, day_length


def gps_to_decimal_year(t_gps: npt.ArrayLike) -> np.ndarray:
    """UTC decimal year of GPS times, as astropy's ``Time(t, format="gps").utc.decimalyear``.

    Parameters
    ----------
    t_gps : array_like
        GPS seconds since 1980-01-06T00:00:00Z.

    Returns
    -------
    numpy.ndarray of float64
        Decimal year on the UTC scale.

    Examples
    --------
    The ATLAS epoch, and noon on 2019-07-02 (182.5 of 2019's 365 days):

    >>> noon = utc_to_gps("2019-07-02T12:00:00")[()]
    >>> gps_to_decimal_year([ATLAS_SDP_GPS_EPOCH, noon]).tolist()
    [2018.0, 2019.5]
    """
    t = np.asarray(t_gps, dtype=np.float64)
    if t.size > 1:
        low, high = t.min(), t.max()  # NaN if any is NaN: finite ends mean all finite
        fast = None
        if np.isfinite(low) and np.isfinite(high):
            fast = _decimal_year_without_leaps(t, float(low), float(high))
        if fast is not None:
            return fast
    day_start, second, day_length = _utc_day_and_second(t)
    year, day_of_year, days_in_year = _calendar(day_start)
    return year + (day_of_year + second / day_length) / days_in_year


def _decimal_year_without_leaps(t: np.ndarray, low: float, high: float) -> np.ndarray | None:
    """Fast path: when no leap second falls between the first and last time (``low`` and
    ``high``; the usual case: a granule spans minutes), every UTC day is 86400 s and the
    decimal year is piecewise linear in time. Returns None when a leap second intervenes.
    Within one UTC day (most granules) the day index is left out: the same arithmetic, in
    place, a third of the passes over the array."""
    day_start, second, _ = _utc_day_and_second(np.array([low, high]))
    n_days = int((day_start[1] - day_start[0]) // _SECONDS_PER_DAY) + 1
    days = day_start[0] + _SECONDS_PER_DAY * np.arange(n_days, dtype=np.float64)
    if n_days > 400 or np.isin(days + _SECONDS_PER_DAY, _LEAP_POSIX).any():
        return None
    year, day_of_year, days_in_year = _calendar(days)
    since_midnight = t - (low - second[0])  # GPS seconds since the first UTC midnight
    if n_days == 1:  # (x - 0.0) / 86400, + day, / days, + year: as below with index 0
        since_midnight /= _SECONDS_PER_DAY
        since_midnight += day_of_year[0]
        since_midnight /= days_in_year[0]
        since_midnight += year[0]
        return since_midnight
    index = np.clip(since_midnight // _SECONDS_PER_DAY, 0, n_days - 1).astype(np.intp)
    fraction = (since_midnight - index * float(_SECONDS_PER_DAY)) / _SECONDS_PER_DAY
    return year[index] + (day_of_year[index] + fraction) / days_in_year[index]


def _calendar(day_start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, day of year (from 0) and days in that year of UTC days (POSIX s at midnight)."""
    day = (day_start // _SECONDS_PER_DAY).astype("datetime64[D]")
    year_start = day.astype("datetime64[Y]")
    first_day = year_start.astype("datetime64[D]")
    days_in_year = ((year_start + 1).astype("datetime64[D]") - first_day).astype(np.float64)
    day_of_year = (day - first_day).astype(np.float64)
    return year_start.astype(np.int64) + 1970.0, day_of_year, days_in_year


def gps_to_datetime64(t_gps: npt.ArrayLike) -> np.ndarray:
    """UTC calendar time of GPS times, as ``datetime64[us]``.

    A time inside a leap second is shown as 23:59:59.999999 of that day, since
    numpy's datetime64 has no 23:59:60.

    Parameters
    ----------
    t_gps : array_like
        GPS seconds since 1980-01-06T00:00:00Z.

    Returns
    -------
    numpy.ndarray of datetime64[us]
        UTC, to the microsecond.

    Examples
    --------
    Half-way through the leap second that ended 2016 (UTC 23:59:60.5), and a second later:

    >>> gps_to_datetime64([1167264017.5, 1167264018.0]).astype(str).tolist()
    ['2016-12-31T23:59:59.999999', '2017-01-01T00:00:00.000000']
    """
    day_start, second, _ = _utc_day_and_second(t_gps)
    micro = np.minimum(np.round(second * 1e6), _SECONDS_PER_DAY * 1_000_000 - 1)
    return (day_start.astype(np.int64) * 1_000_000 + micro.astype(np.int64)).astype(
        "datetime64[us]"
    )


def utc_to_gps(utc: npt.ArrayLike) -> np.ndarray:
    """GPS seconds of UTC calendar times.

    Parameters
    ----------
    utc : array_like of str or datetime64
        UTC times, e.g. ``"2019-01-01"`` or ``"2019-01-01T12:00:00.5"``.

    Returns
    -------
    numpy.ndarray of float64
        GPS seconds since 1980-01-06T00:00:00Z.

    Examples
    --------
    >>> utc_to_gps(["2017-01-01", "2018-01-01"]).tolist()
    [1167264018.0, 1198800018.0]
    """
    micro = np.asarray(utc, dtype="datetime64[us]").astype(np.int64)
    posix = micro / 1e6
    leaps = np.searchsorted(_LEAP_POSIX, posix, side="right")
    return posix - GPS_EPOCH_POSIX + leaps


def format_ccsds(t_gps: float, digits: int = 6) -> str:
    """UTC time of one GPS time as a CCSDS ASCII string, as ATL06 writes them.

    Parameters
    ----------
    t_gps : float
        GPS seconds since 1980-01-06T00:00:00Z.
    digits : int
        Decimals of the seconds, 0 to 6 (truncated, not rounded).

    Returns
    -------
    str
        ``YYYY-MM-DDThh:mm:ss[.ffffff]Z``.

    Examples
    --------
    >>> format_ccsds(ATLAS_SDP_GPS_EPOCH)
    '2018-01-01T00:00:00.000000Z'
    >>> format_ccsds(ATLAS_SDP_GPS_EPOCH + 1.25, digits=3)
    '2018-01-01T00:00:01.250Z'
    """
    stamp = gps_to_datetime64(np.asarray([t_gps]))[0]
    text = np.datetime_as_string(stamp, unit="us")
    if digits < 6:
        text = text[: len(text) - (6 - digits) - (1 if digits == 0 else 0)]
    return text + "Z"
