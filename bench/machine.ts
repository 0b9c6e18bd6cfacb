import * as os from 'node:os';

/** The machine a bench ran on and how busy it was: results from a loaded machine are noisier. */
export interface MachineInfo {
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  /** os.loadavg() (1, 5 and 15 minutes) when the scenario started and when it ended. */
  loadAtStart: number[];
  loadAtEnd: number[];
}

export function machineAtStart(): Omit<MachineInfo, 'loadAtEnd'> {
  return {
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    loadAtStart: loadAverage(),
  };
}

export function loadAverage(): number[] {
  return os.loadavg().map((value) => Number(value.toFixed(2)));
}
