package main

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
}

// drawChart writes a PNG of two bar charts, req/s and p99 per endpoint, one bar per server
// and database, to path.
func drawChart(s *session, path string) error {
	type series struct{ dialect, target string }
	var all []series
	for _, d := range s.o.dialects {
		for _, t := range s.targetsOf(d) {
			all = append(all, series{d, t})
		}
	}
	if len(all) == 0 {
		return nil
	}
	names := make([]string, len(s.o.endpoints))
	copy(names, s.o.endpoints)
	rps := plot.New()
	rps.Title.Text = "Throughput (higher is better)"
	rps.Y.Label.Text = "req/s"
	p99 := plot.New()
	p99.Title.Text = "p99 latency (lower is better)"
	p99.Y.Label.Text = "ms"
	w := vg.Points(float64(60) / float64(len(all)+1) * 1.6)
	for i, sr := range all {
		var a, b plotter.Values
		for _, e := range names {
			c := s.cell(sr.dialect, e, sr.target)
			a = append(a, c.rps)
			b = append(b, float64(c.p99)/1e6)
		}
		offset := w * vg.Length(float64(i)-float64(len(all)-1)/2)
		for _, pair := range []struct {
			p *plot.Plot
			v plotter.Values
		}{{rps, a}, {p99, b}} {
			bars, err := plotter.NewBarChart(pair.v, w)
			if err != nil {
				return fmt.Errorf("chart: %w", err)
			}
			bars.LineStyle.Width = 0
			bars.Color = palette[i%len(palette)]
			bars.Offset = offset
			pair.p.Add(bars)
			if pair.p == rps {
				pair.p.Legend.Add(sr.target+" ("+sr.dialect+")", bars)
			}
		}
	}
	for _, p := range []*plot.Plot{rps, p99} {
		p.NominalX(names...)
		p.Legend.Top = true
		p.Y.Min = 0
	}
	rps.Legend.Left = false
	const width, height = 24 * vg.Centimeter, 20 * vg.Centimeter
	img := vgimg.New(width, height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadX: vg.Millimeter * 2, PadY: vg.Millimeter * 6}
	plots := [][]*plot.Plot{{rps}, {p99}}
	canvases := plot.Align(plots, tiles, dc)
	rps.Draw(canvases[0][0])
	p99.Draw(canvases[1][0])
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("chart: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
