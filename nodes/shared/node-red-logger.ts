import type { Node } from 'node-red';
import { createLogger, type Logger, type LogLevel } from '../../server/log/logger';

/** A hub Logger whose lines go to Node-RED's log through a node, so they carry its id and name. */
export function nodeRedLogger(node: Node, level: LogLevel): Logger {
  return createLogger({
    level,
    sink: ({ level: lineLevel, msg, time: _time, component, ...fields }) => {
      const prefix = typeof component === 'string' ? `[${component}] ` : '';
      const detail = Object.keys(fields).length ? ' ' + JSON.stringify(fields, errorsAsText) : '';
      const text = prefix + msg + detail;
      if (lineLevel === 'error') node.error(text);
      else if (lineLevel === 'warn') node.warn(text);
      else if (lineLevel === 'info') node.log(text);
      else node.debug(text);
    },
  });
}

function errorsAsText(_key: string, value: unknown): unknown {
  return value instanceof Error ? value.message : value;
}
