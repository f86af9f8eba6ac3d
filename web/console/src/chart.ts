// Orders per second per region over the last minute, drawn with uPlot (bundled: nothing is fetched from
// elsewhere).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Status } from './model';

const colours = ['#d9534f', '#2a7ae2', '#3c9d5d', '#e39b2d', '#8e5bd6', '#4aa3a3', '#b5527a', '#6b7a8f'];

export class OrdersChart {
  private plot: uPlot | null = null;
  private names = '';

  constructor(private readonly element: HTMLElement) {}

  update(status: Status): void {
    const names = status.regions.map((r) => r.name).join(',');
    const { start, series } = status.chart;
    const xs = (series[0] ?? []).map((_, i) => start + i);
    const data: uPlot.AlignedData = [xs, ...series];
    if (!this.plot || names !== this.names) {
      this.plot?.destroy();
      this.names = names;
      this.plot = new uPlot(
        {
          width: Math.max(280, this.element.clientWidth - 8),
          height: 200,
          scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          series: [
            {},
            ...status.regions.map((r, i) => ({
              label: r.name,
              stroke: colours[i % colours.length],
              width: 2,
              points: { show: false },
            })),
          ],
          axes: [{}, { size: 40 }],
        },
        data,
        this.element,
      );
      return;
    }
    this.plot.setData(data);
  }
}
