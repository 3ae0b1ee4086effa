package schedule

// Civil-date arithmetic on "wall seconds": the seconds since 1970-01-01
// 00:00:00 of a local date and time, as if the zone were UTC. The engine
// searches wall times field by field, then maps them to instants (dst.go).

const secondsPerDay = 86400

// floorDiv returns a/b rounded toward negative infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// daysFromCivil returns the day number (days since 1970-01-01) of y-m-d,
// for the proleptic Gregorian calendar.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// isLeap reports whether y is a Gregorian leap year.
func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// daysIn returns the number of days in month m of year y.
func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// weekdayOf returns the weekday (0 = Sunday) of a day number.
func weekdayOf(days int64) int64 {
	w := (days + 4) % 7 // 1970-01-01 was a Thursday
	if w < 0 {
		w += 7
	}
	return w
}

// wallOf composes wall seconds from fields.
func wallOf(y, mo, d, h, mi, s int64) int64 {
	return daysFromCivil(y, mo, d)*secondsPerDay + h*3600 + mi*60 + s
}

// splitWall decomposes wall seconds into fields.
func splitWall(w int64) (y, mo, d, h, mi, s int64) {
	days := floorDiv(w, secondsPerDay)
	sod := w - days*secondsPerDay
	y, mo, d = civilFromDays(days)
	return y, mo, d, sod / 3600, sod / 60 % 60, sod % 60
}
