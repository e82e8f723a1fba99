// ECharts with only the pieces the UI draws; loaded on demand (see charts.js).
import * as echarts from "echarts/core";
import { BarChart, GraphChart, LineChart, ParallelChart, ScatterChart } from "echarts/charts";
import {
  DataZoomComponent, GridComponent, LegendComponent, MarkLineComponent, ParallelComponent,
  TitleComponent, TooltipComponent, VisualMapComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  BarChart, GraphChart, LineChart, ParallelChart, ScatterChart, DataZoomComponent, GridComponent,
  LegendComponent, MarkLineComponent, ParallelComponent, TitleComponent, TooltipComponent,
  VisualMapComponent, CanvasRenderer,
]);

export default echarts;
