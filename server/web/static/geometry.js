// Where things are drawn: shared by the grid and the flowchart so they always agree.
export const COL_W = 300;
export const ROW_H = 200;
export const HEAD = 48; // height of the stage header row
export const SIDE = 140; // width of the lane header column
export const NODE_W = 160;
export const NODE_H = 60;

/** Column and row of a point, given stages and lanes in order. */
export function cellAt(x, y, stages, lanes) {
  const col = Math.floor(x / COL_W);
  const row = Math.floor((y - HEAD) / ROW_H);
  return { stage: stages[col]?.id ?? null, lane: lanes[row]?.id ?? null };
}

export function nodeCenter(node) {
  return { x: node.x + NODE_W / 2, y: node.y + NODE_H / 2 };
}
