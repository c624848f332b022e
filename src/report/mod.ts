/**
 * Plots and reports: dependency-free SVG charts.
 *
 * @module
 */

export {};
