import type { RandomSource } from 'steadfast';

const SUMMARIES = ['Freezing', 'Bracing', 'Chilly', 'Cool', 'Mild', 'Warm', 'Balmy', 'Hot'];

/** One day of the forecast, shaped like the ASP.NET Core template's `WeatherForecast`. */
export interface ForecastDay {
  readonly date: string;
  readonly temperatureC: number;
  readonly temperatureF: number;
  readonly summary: string;
}

/** Five days of made-up weather, drawn from `random` (so a seeded run repeats). */
export function forecast(random: RandomSource): ForecastDay[] {
  const today = Date.now();
  return Array.from({ length: 5 }, (_, index) => {
    const temperatureC = Math.floor(random() * 75) - 20;
    return {
      date: new Date(today + (index + 1) * 86_400_000).toISOString().slice(0, 10),
      temperatureC,
      temperatureF: 32 + Math.trunc(temperatureC / 0.5556),
      summary: SUMMARIES[Math.floor(random() * SUMMARIES.length)]!,
    };
  });
}
